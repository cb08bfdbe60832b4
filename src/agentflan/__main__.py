from agentflan.cli import main

raise SystemExit(main())
