from lift_reader.cli import main

raise SystemExit(main())
