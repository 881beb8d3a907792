"""The one `main()` shape every executable uses.

It creates the node inside try, spins it, treats SIGINT/SIGTERM/SIGHUP as a normal exit (code 0,
as launch_testing's exit-code checks expect), turns a `ConfigError` into exit code 2 with the
offending key in the message, and always runs the node's `on_shutdown()` (publish zero, stop
motors) before destroying it. rclpy's own signal handlers are replaced (see `spinning`): they
would invalidate the context before the shutdown hook could publish its zero command; and the
hook's last messages are flushed (acknowledged by reliable subscribers) before the node goes.

The DDS teardown after the hook (destroying the node, shutting the context down, the library's
exit) runs under a watchdog: see `TEARDOWN_BUDGET_S`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import faulthandler
import signal
import sys
from typing import Any

from rover_nav.runtime.params import ConfigError

EXIT_OK = 0
EXIT_CONFIG = 2
#: `kill -USR1` prints every thread's Python stack to stderr (the node's log): what a node that does
#: not stop is doing. `rover run --processes` sends it before it SIGKILLs a node that ignored SIGINT.
STACK_DUMP_SIGNAL = signal.SIGUSR1
#: Wall seconds the DDS teardown gets once the shutdown hook has run (the zero command acknowledged,
#: recordings closed). Fast DDS can deadlock in it when peers leave at the same moment (a reader's
#: unmatching waits for the event thread, which waits for a mutex the first thread holds:
#: eProsima/Fast-DDS#6502), holding the GIL, so no Python code can end it: the kernel does. An alarm
#: dumps every thread's stack into the log and SIGALRM's default action ends the process.
TEARDOWN_BUDGET_S = 10
#: The exit code of a node ended by that watchdog: its work was done, its DDS goodbye was not.
TEARDOWN_HUNG = -signal.SIGALRM


def run_node(factory: Callable[[], Any], argv: Sequence[str] | None = None,
             spin: Callable[[Any], None] | None = None) -> int:
    """Create a node with `factory()`, spin it until shutdown and return the exit code."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions
    from rclpy.utilities import try_shutdown

    from rover_nav.runtime.spinning import (
        flush_publishers,
        run_shutdown_hooks,
        spin_keeping_context,
        use_python_signal_handlers,
    )

    rclpy.init(args=list(sys.argv if argv is None else argv), signal_handler_options=SignalHandlerOptions.NO)
    use_python_signal_handlers()
    faulthandler.register(STACK_DUMP_SIGNAL, all_threads=True)
    node = None
    try:
        node = factory()
        (spin or spin_keeping_context)(node)
        return EXIT_OK
    except (KeyboardInterrupt, ExternalShutdownException):
        return EXIT_OK
    except ConfigError as exc:
        print(f'configuration error: {exc}', file=sys.stderr)
        return EXIT_CONFIG
    finally:
        if node is not None:
            run_shutdown_hooks(node.get_name(), [node], after_each=flush_publishers)
        end_if_teardown_hangs(TEARDOWN_BUDGET_S)
        if node is not None:
            node.destroy_node()
        try_shutdown()


def end_if_teardown_hangs(budget_s: int) -> None:
    """Arm the teardown watchdog: after `budget_s` the stacks go to stderr and SIGALRM ends the process.

    Never disarmed: it covers the interpreter's exit too (the DDS library's static destructors).
    A process that ends in time never sees it. Only for a process that is about to exit.
    """
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # faulthandler chains to this: terminate
    faulthandler.register(signal.SIGALRM, all_threads=True, chain=True)
    signal.alarm(budget_s)
