from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from crm.models import Team, User


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
