"""What the bench scripts say about the machine they ran on."""

import platform
import subprocess


def cpu_model():
    """lscpu's "Model name", or what the platform module knows when lscpu is missing."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"
