"""Form-letter grouping at scale: 100,000 labelled comments, precision, recall and time.

    .venv/bin/python bench/campaigns.py               # 100,000 comments, 80 campaigns
    .venv/bin/python bench/campaigns.py --comments 20000

Stores the synthetic comments (tests/support/campaign_data.py, made from ../shared/corpus)
in PostgreSQL (BENCH_CAMPAIGNS_DATABASE_URL, default database consult_bench_campaigns,
created when missing), then groups them the way the periodic job does, in batches of 1,000.
The baseline, measured in the same run, is signing the same texts alone (MinHash, no
database): the part of the work no grouping can avoid. Writes var/bench/campaigns.json.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database, results_report  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/consult_bench_campaigns"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=80)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    database = os.environ.get("BENCH_CAMPAIGNS_DATABASE_URL", DEFAULT_DATABASE)
    ensure_database(database)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="consult.settings",
        DEBUG="false",
        SECRET_KEY="bench-only",
        DATABASE_URL=database,
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from consult.comments.campaigns import campaigns_assign_pending, signatures
    from consult.comments.models import Campaign, Comment
    from consult.consultations.models import Consultation, Department
    from consult.testing.campaign_data import labelled_comments, pair_scores
    from consult.testing.weifang import load_weifang

    call_command("migrate", verbosity=0)
    Comment.objects.all().delete()
    Campaign.objects.all().delete()
    Consultation.objects.all().delete()
    Department.objects.all().delete()
    consultation = load_weifang(slug="weifang-campaigns")

    started = time.perf_counter()
    data = labelled_comments(args.comments, campaigns=args.campaigns)
    generated = time.perf_counter() - started

    now = timezone.now()
    started = time.perf_counter()
    comments = Comment.objects.bulk_create(
        (
            Comment(
                consultation=consultation,
                body=text,
                channel=Comment.Channel.API,
                consent=True,
                consent_at=now,
                tracking_number=f"C{n:08d}X",
                submitted_at=now,
            )
            for n, (text, _label) in enumerate(data)
        ),
        batch_size=5000,
    )
    stored = time.perf_counter() - started

    started = time.perf_counter()
    signatures([text for text, _label in data])
    signing_only = time.perf_counter() - started

    started = time.perf_counter()
    grouped = campaigns_assign_pending(batch=args.batch, limit=None)
    grouping = time.perf_counter() - started
    assert grouped == len(comments), (grouped, len(comments))

    campaign_of = dict(Comment.objects.values_list("pk", "campaign_id"))
    precision, recall = pair_scores(
        [label for _text, label in data], [campaign_of[c.pk] for c in comments]
    )
    results = {
        "machine": os.uname().nodename,
        "cpus": os.cpu_count(),
        "comments": len(comments),
        "true_campaigns": args.campaigns,
        "campaign_letters": sum(1 for _t, label in data if label is not None),
        "campaigns_found": Campaign.objects.count(),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "grouping_seconds": round(grouping, 1),
        "grouping_comments_per_second": round(len(comments) / grouping, 1),
        "baseline_signing_only_seconds": round(signing_only, 1),
        "grouping_to_signing_ratio": round(grouping / signing_only, 2),
        "generate_seconds": round(generated, 1),
        "store_seconds": round(stored, 1),
        "target": "precision and recall >= 0.95; 100,000 comments grouped within minutes",
    }
    results_report("campaigns", results)


if __name__ == "__main__":
    main()
