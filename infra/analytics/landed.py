"""The landed files, from the analytics bucket (AWS's, or the local runtime's moto) to a local folder.

Landed objects are immutable and uniquely named (Firehose's `<stream>-<version>-<time>-<random>`),
so a sync downloads only the keys the folder does not hold yet: a second report costs the listing
(1000 keys per page), not a download of the whole history.
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.status import find
from infra.wiring_model import Landing


@dataclass(frozen=True)
class SyncReport:
    """What a sync did: objects listed, downloaded now (and their bytes), local copies removed."""

    listed: int
    downloaded: int
    bytes: int
    removed: int = 0


class NoAnalyticsBucket(LookupError):
    """No bucket of the deployment holds the analytics bucket's name (or more than one does)."""


def bucket_of(s3: Any, logical: str) -> str:
    """The one bucket whose name holds the logical name (`close2cash-analytics`, `...-analytics...`)."""
    names = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    found = find(names, logical)
    if found is None:
        raise NoAnalyticsBucket(f"no single bucket is named after {logical!r} among {sorted(names)}")
    return found


def sync(s3: Any, bucket: str, landing: Landing, folder: Path) -> SyncReport:
    """Mirror the landed objects of `landing` in `folder`: download what it lacks, drop what the bucket
    no longer holds (a lifecycle expiry, another deployment's files), keeping each key as its path."""
    listed: set[Path] = set()
    downloaded = size = 0
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{landing.prefix}/"):
        for item in page.get("Contents", []):
            target = folder / item["Key"]
            listed.add(target)
            if target.exists() and target.stat().st_size == item["Size"]:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(target.suffix + ".part")
            s3.download_file(bucket, item["Key"], str(partial))
            partial.replace(target)
            downloaded += 1
            size += item["Size"]
    root = folder / landing.prefix
    removed = (
        [path for path in root.rglob("*") if path.is_file() and path not in listed] if root.exists() else []
    )
    for path in removed:
        path.unlink()
    return SyncReport(listed=len(listed), downloaded=downloaded, bytes=size, removed=len(removed))
