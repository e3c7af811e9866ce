from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_role_groups(sender, **kwargs):
    # Permissions are created by post_migrate too, so the groups are (re)built after every migrate.
    from crm.services import role_groups_sync

    role_groups_sync()


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Accounts and teams"

    def ready(self):
        post_migrate.connect(_sync_role_groups, sender=self, dispatch_uid="crm_sync_role_groups")
