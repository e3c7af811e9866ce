from django.contrib import admin

from leads.models import (
    AttributeLabel,
    Channel,
    ChannelSpend,
    FollowUpTask,
    Interaction,
    Lead,
    SentNotice,
    StageChange,
)


class ChannelSpendInline(admin.TabularInline):
    model = ChannelSpend
    extra = 1


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name"]
    inlines = [ChannelSpendInline]


@admin.register(ChannelSpend)
class ChannelSpendAdmin(admin.ModelAdmin):
    list_display = ["channel", "period_start", "period_end", "amount", "currency"]
    list_filter = ["channel"]
    date_hierarchy = "period_start"


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "email", "stage", "grade", "owner", "channel", "created_at"]
    list_filter = ["stage", "grade", "channel"]
    search_fields = ["name", "email_normalized", "company"]
    raw_id_fields = ["owner", "team", "channel"]
    readonly_fields = ["email_normalized", "phone_normalized", "created_at", "updated_at"]
    list_select_related = ["owner", "channel"]
    # Counting a million rows on every admin page is slow; the admin shows "Show all" instead.
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["lead", "kind", "direction", "outcome", "user", "occurred_at"]
    list_filter = ["kind", "direction"]
    raw_id_fields = ["lead", "user"]
    list_select_related = ["lead", "user"]
    show_full_result_count = False


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(admin.ModelAdmin):
    list_display = ["title", "lead", "assignee", "due_at", "done_at"]
    raw_id_fields = ["lead", "assignee", "created_by"]
    list_select_related = ["lead", "assignee"]
    show_full_result_count = False


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["lead", "from_stage", "to_stage", "changed_at", "user"]
    list_filter = ["to_stage"]
    raw_id_fields = ["lead", "user"]
    list_select_related = ["lead", "user"]
    show_full_result_count = False


@admin.register(SentNotice)
class SentNoticeAdmin(admin.ModelAdmin):
    """Read-only: which reminders and escalations went out, for support questions ("was I told?")."""

    list_display = ["kind", "lead", "task", "sent_at", "sweep"]
    list_filter = ["kind"]
    raw_id_fields = ["lead", "task"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AttributeLabel)
class AttributeLabelAdmin(admin.ModelAdmin):
    """How the lead page names each custom attribute (set by the import from the column's name; renamed here)."""

    list_display = ["key", "label"]
    search_fields = ["key", "label"]
