from edge.sim.cli import main

raise SystemExit(main())
