"""The error for data that an operating-system package provides and that is not installed."""

from __future__ import annotations


class MissingDataError(FileNotFoundError):
    """Data that an operating-system package provides is not where it should be.

    ``package`` names the package, ``folder`` where it was looked for; ``str()`` is one line
    that says both and how to install it (``apt-get install <package>``)."""

    def __init__(self, what: str, folder: str, package: str, detail: str = "", where: str = "point data_dir at a folder holding its files"):
        self.what, self.folder, self.package, self.detail = what, folder, package, detail
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{what} not found in {folder}{extra}: install it with `apt-get install {package}` (Debian/Ubuntu, as root), or {where}."
        )

    def __reduce__(self):  # keep the fields when pickled across processes (pytest-xdist)
        return (type(self), (self.what, self.folder, self.package, self.detail))


__all__ = ["MissingDataError"]
