"""LipAlign for DaVinci Resolve: Workspace > Scripts > Revert LipAlign changes.

Runs "Auto-align lips.py" from the same folder with the revert action: the LipAlign panel opens and asks to
undo every LipAlign change on the current timeline (headless mode reverts at once). Resolve gives this
script the ``resolve`` global, which is passed on. Standard library only, Python 3.6 syntax.
"""

import os
import runpy


def revert(names):
    path = names.get("__file__")
    if not path:
        raise RuntimeError("Resolve gave this script no __file__, so the Auto-align lips script beside it cannot be "
                           "found: use Revert in the LipAlign panel instead")
    script = os.path.join(os.path.dirname(os.path.abspath(path)), "Auto-align lips.py")
    given = {"resolve": names.get("resolve"), "bmd": names.get("bmd"), "app": names.get("app"),
             "LIPALIGN_ACTION": "revert", "__file__": script}
    return runpy.run_path(script, init_globals=given, run_name="__main__").get("LAST_SUMMARY")


if __name__ == "__main__":
    LAST_SUMMARY = revert(globals())
