"""The test-only API under `/_emulator/`: seeding, state, faults, statistics, the clock and
out-of-band changes (`routes`), and what a person or an administrator does during a sign-in
(`signins`).
"""
