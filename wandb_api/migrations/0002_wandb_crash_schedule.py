"""Schedule the crash detector (every minute) for runs that logged through wandb."""

from __future__ import annotations

from django.db import migrations

NAME = "beacon-wandb-crashed-runs"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "wandb_api.tasks.detect_crashed_runs", "schedule_type": "I",
                  "minutes": 1, "repeats": -1},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("wandb_api", "0001_wandb_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
