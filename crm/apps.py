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
        from django.contrib.auth.signals import user_login_failed
        from django.core.signals import got_request_exception

        from crm.errors import remember_unavailable
        from crm.limits import login_failure_counted

        post_migrate.connect(_sync_role_groups, sender=self, dispatch_uid="crm_sync_role_groups")
        user_login_failed.connect(login_failure_counted, dispatch_uid="crm_login_failure_counted")
        got_request_exception.connect(remember_unavailable, dispatch_uid="crm_remember_unavailable")
