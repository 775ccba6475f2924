"""CPU training workers end with the process that started them: interrupted or killed, none keeps training."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SCRIPT = textwrap.dedent('''
    import os, sys, time
    from pathlib import Path

    def hold(rank, folder):
        Path(folder, f"{rank}.pid").write_text(str(os.getpid()))
        time.sleep(120)

    if __name__ == "__main__":
        from helpers.parallel import spawn_cpu_workers
        try:
            spawn_cpu_workers(2, hold, sys.argv[1])
        except KeyboardInterrupt:
            Path(sys.argv[1], "interrupted").write_text("")
''')


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        return "\nState:\tZ" not in status.read_text()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def start(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    (tmp_path / "hold.py").write_text(SCRIPT)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    parent = subprocess.Popen([sys.executable, str(tmp_path / "hold.py"), str(tmp_path)], cwd=tmp_path, env=env)
    pids = [tmp_path / "0.pid", tmp_path / "1.pid"]
    assert wait_for(lambda: all(p.exists() and p.read_text() for p in pids), 60), "the workers did not start"
    return parent, [int(p.read_text()) for p in pids]


@pytest.mark.parametrize("how", ["interrupted", "killed"])
def test_workers_end_with_their_training_process(tmp_path, how):
    parent, workers = start(tmp_path)
    try:
        assert all(alive(w) for w in workers)
        if how == "interrupted":  # a notebook's stop button: SIGINT to the kernel alone, not to its workers
            parent.send_signal(signal.SIGINT)
            assert parent.wait(30) == 0 and (tmp_path / "interrupted").exists()
        else:  # SIGKILL: no handler runs in the training process; the workers notice their parent is gone
            parent.kill()
            parent.wait(30)
        assert wait_for(lambda: not any(alive(w) for w in workers), 15), f"workers still running after {how}"
    finally:
        parent.kill()
        for w in workers:
            if alive(w):
                os.kill(w, signal.SIGKILL)


def test_a_worker_whose_parent_is_gone_before_it_watches_ends_at_once():
    """The race torch's own parent-death signal misses: the parent died while the worker was still importing."""
    code = ("import os, time\nfrom helpers.parallel import exit_with_parent\n"
            "exit_with_parent(os.getppid() + 1)\ntime.sleep(60)\n")  # + 1: a parent that is not (or no longer) ours
    root = Path(__file__).resolve().parents[1]
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], cwd=root, timeout=30)
    assert done.returncode == 1 and time.monotonic() - began < 20
