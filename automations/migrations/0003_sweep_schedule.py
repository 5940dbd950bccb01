"""Schedule the sweep (every minute) that re-queues due or stale deliveries."""

from __future__ import annotations

from django.db import migrations

NAME = "beacon-sweep"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "automations.tasks.sweep", "schedule_type": "I", "minutes": 1,
                  "repeats": -1},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0002_event_sample"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
