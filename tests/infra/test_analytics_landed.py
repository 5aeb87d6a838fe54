"""The landed files mirrored from the bucket into a local folder (moto S3)."""

from __future__ import annotations

from pathlib import Path

import boto3
from moto import mock_aws

from infra.analytics.landed import bucket_of, sync
from infra.wiring import WIRING

LANDING = WIRING.landings[0]


def test_a_sync_downloads_only_what_is_new_and_drops_what_the_bucket_no_longer_holds(tmp_path: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="close2cash-analytics")
        s3.create_bucket(Bucket="close2cash-other")
        bucket = bucket_of(s3, LANDING.bucket)
        for day in ("2026-01-01", "2026-01-02"):
            s3.put_object(Bucket=bucket, Key=f"events/time_approved/dt={day}/f.parquet", Body=b"x" * 10)
        s3.put_object(Bucket=bucket, Key="landing-errors/time_approved/x", Body=b"failed")
        # When the folder is synced twice, and once more after a file went away
        first = sync(s3, bucket, LANDING, tmp_path)
        second = sync(s3, bucket, LANDING, tmp_path)
        s3.delete_object(Bucket=bucket, Key="events/time_approved/dt=2026-01-01/f.parquet")
        third = sync(s3, bucket, LANDING, tmp_path)
        # Then the first downloads both landed files (not the errors), the second nothing,
        # and the third drops the local copy of the file the bucket no longer holds
        assert (first.listed, first.downloaded, first.bytes) == (2, 2, 20)
        assert (second.downloaded, second.removed) == (0, 0)
        assert (third.listed, third.removed) == (1, 1)
        assert sorted(p.parent.name for p in tmp_path.rglob("*.parquet")) == ["dt=2026-01-02"]
