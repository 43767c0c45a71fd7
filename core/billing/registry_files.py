"""The files a provider has sent us (account registers, billing registries), known by their
checksum: the «loaded before?» question every provider upload asks, in one place."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import RegistryFile


def earlier_file(s: Session, provider_id: int, kind: str, digest: str) -> RegistryFile | None:
    """The same file (same bytes) of this provider and kind, if it was loaded before."""
    return s.scalar(select(RegistryFile).where(RegistryFile.provider_id == provider_id,
                                               RegistryFile.kind == kind,
                                               RegistryFile.sha256 == digest))
