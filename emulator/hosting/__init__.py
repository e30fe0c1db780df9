"""Hosting: the owner process's composition root (the emulator), the resident emulator, local batch
transform and parity, on top of the control plane and the front."""
