from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from crm.models import Notification, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "team", "is_active"]
    list_filter = ["groups", "team", "is_active"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("Team", {"fields": ["team"]})]
    add_fieldsets = [*BaseUserAdmin.add_fieldsets, ("Team", {"fields": ["team", "groups"]})]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager"]
    search_fields = ["name"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "text", "created_at", "read_at", "emailed_at"]
    list_filter = ["read_at"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]
