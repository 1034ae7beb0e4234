"""Client overhead with limits lifted: CPU per recipient at 1/4/16/64 concurrent requests.

Every client sends the same 50-recipient ``/campaigns/trigger/send`` requests to the same
minimal server (another process), each client in its own process, and we read that process's
CPU time. Rows: braze_async beside (a) the hand-written httpx loop on httpx's default
transport, (b) the same loop on braze_async's transport, (c) a raw aiohttp loop (the floor),
(d) edx-braze-client (sync requests, one client per thread).
"""

from __future__ import annotations

from ._common import Row, echo_server, line_plot, plot_dir, python_module, run_json, standalone

SECTION = "Client overhead (CPU per request of 50 recipients, limits lifted)"
HOW_TO_READ = (
    "client process CPU per recipient against the same minimal server, best of two runs; "
    "lower is better, and braze_async's line should stay flat as concurrency grows."
)
PLOTS = ("overhead.png",)
CLIENTS = ["braze_async", "httpx-aiohttp", "aiohttp-raw", "httpx-default", "edx-braze-client"]
LABEL = {
    "braze_async": "braze_async",
    "httpx-aiohttp": "httpx loop on braze_async's transport",
    "aiohttp-raw": "raw aiohttp loop (floor)",
    "httpx-default": "httpx loop, default transport",
    "edx-braze-client": "edx-braze-client in threads",
}
#: Braze's ceiling: 250,000 requests an hour.
CEILING_PER_SECOND = 250_000 / 3600


def measure(url: str, client: str, concurrency: int, requests: int) -> float:
    """Microseconds of client CPU per request (best of two runs: noise only adds)."""
    best = float("inf")
    for _ in range(2):
        result = run_json(
            python_module(
                "benchmarks._overhead_client", client, url, str(concurrency), str(requests)
            )
        )
        best = min(best, result["cpu"] / result["requests"] * 1e6)
    return best


def run(quick: bool) -> list[Row]:
    levels = [1, 4, 16, 64]
    requests = 600 if quick else 3000
    cost: dict[str, dict[int, float]] = {c: {} for c in CLIENTS}
    with echo_server() as url:
        for concurrency in levels:
            for client in CLIENTS:
                n = requests // 3 if client == "httpx-default" and concurrency == 64 else requests
                cost[client][concurrency] = measure(url, client, concurrency, n)
    rows: list[Row] = []
    for concurrency in levels:
        ours = cost["braze_async"][concurrency]
        for client in CLIENTS:
            us = cost[client][concurrency]
            rows.append(
                Row(
                    SECTION,
                    f"{LABEL[client]}, c={concurrency}",
                    us / 50,
                    "us/recipient",
                    note=f"{us:,.0f} us/request, {1e6 / us * 50:,.0f} recipients/s of CPU",
                )
            )
        httpx_same = cost["httpx-aiohttp"][concurrency]
        edx = cost["edx-braze-client"][concurrency]
        rows.append(
            Row(
                SECTION,
                f"braze_async / httpx loop on the same transport, c={concurrency}",
                ours / httpx_same,
                "x",
                "httpx-aiohttp loop",
                ours / httpx_same,
                "<= 1.2x",
                ours / httpx_same <= 1.2,
            )
        )
        rows.append(
            Row(
                SECTION,
                f"braze_async / edx-braze-client, c={concurrency}",
                ours / edx,
                "x",
                "edx-braze-client",
                ours / edx,
                "<= 0.5x",
                ours / edx <= 0.5,
            )
        )
        rows.append(
            Row(
                SECTION,
                f"braze_async / raw aiohttp floor, c={concurrency}",
                ours / cost["aiohttp-raw"][concurrency],
                "x",
                "raw aiohttp",
                ours / cost["aiohttp-raw"][concurrency],
            )
        )
    flat = cost["braze_async"][64] / cost["braze_async"][4]
    rows.append(
        Row(
            SECTION,
            "braze_async flatness: cost at c=64 / cost at c=4",
            flat,
            "x",
            "itself at c=4",
            flat,
            "<= 1.3x",
            flat <= 1.3,
        )
    )
    core_share = cost["braze_async"][16] * 1e-6 * CEILING_PER_SECOND
    rows.append(
        Row(
            SECTION,
            "share of one core to keep pace with 250,000 requests/hour",
            core_share * 100,
            "%",
            "one core",
            core_share,
            "< 4%",
            core_share < 0.04,
            note="12.5M recipients/hour, at c=16",
        )
    )
    line_plot(
        plot_dir(quick) / "overhead.png",
        {LABEL[c]: (levels, [cost[c][lv] / 50 for lv in levels]) for c in CLIENTS},
        title="Client CPU per recipient vs concurrency (lower is better)",
        xlabel="concurrent requests",
        ylabel="CPU microseconds per recipient",
        logx=True,
    )
    return rows


if __name__ == "__main__":
    standalone(run)
