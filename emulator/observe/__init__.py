"""What the emulator saw: the live request log (invocations and container events), kept by the owner process.

The front's workers send finished invocations over a unix datagram socket (`channel`); the owner keeps the
last N per endpoint (`log`) and serves them with the container events (`owner_app`), which the front's
/_emulator/ routes, the `trace` command and the web page read.
"""
