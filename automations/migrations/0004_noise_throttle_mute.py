from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0003_sweep_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="automation",
            name="throttle_minutes",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="automation",
            name="muted_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
