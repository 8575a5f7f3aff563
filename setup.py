"""One build step that pyproject.toml cannot say: the wheel carries resources/ inside the package.

All metadata lives in pyproject.toml.  lift_reader.resources looks for resources/ beside the
package (a checkout or an editable install) and then for lift_reader/resources/ (an installed
wheel); this copies the folder (sample story, icons) into the second place at build time.
The sdist carries resources/ through MANIFEST.in, so a wheel built from it gets the same files.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = Path(__file__).resolve().parent / "resources"


class BuildPyWithResources(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads resources/ in the checkout
        target = Path(self.build_lib) / "lift_reader" / "resources"
        for source in sorted(RESOURCES.rglob("*")):
            if source.is_file() and "__pycache__" not in source.parts:
                dest = target / source.relative_to(RESOURCES)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)


setup(cmdclass={"build_py": BuildPyWithResources})
