from xlie.cli import main

raise SystemExit(main())
