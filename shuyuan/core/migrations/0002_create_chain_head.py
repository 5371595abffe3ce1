"""Create the change-log chain head (seq 0, genesis hash) so appenders only ever lock it."""

from django.db import migrations

GENESIS_HASH = "0" * 64


def create_head(apps, schema_editor):
    ChainHead = apps.get_model("core", "ChainHead")
    ChainHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})


def remove_head(apps, schema_editor):
    ChainHead = apps.get_model("core", "ChainHead")
    ChangeRecord = apps.get_model("core", "ChangeRecord")
    if not ChangeRecord.objects.exists():
        ChainHead.objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_org_tree_changelog_audit")]

    operations = [migrations.RunPython(create_head, remove_head)]
