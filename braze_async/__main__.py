"""``python -m braze_async`` runs the ``braze-async`` command line."""

from braze_async.cli import main

raise SystemExit(main())
