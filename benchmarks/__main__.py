from benchmarks.suite import main

if __name__ == "__main__":  # not when a payer process (spawn) re-imports the main module
    raise SystemExit(main())
