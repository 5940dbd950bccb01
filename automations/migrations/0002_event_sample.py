from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="sample",
            field=models.BooleanField(default=False),
        ),
    ]
