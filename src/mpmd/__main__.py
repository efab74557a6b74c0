from mpmd.cli.mpmd import main

raise SystemExit(main())
