"""Read-mostly views of scoring data for admins; scoring is edited on the Scoring pages, which keep versions
immutable once published."""

from django.contrib import admin

from scoring.models import ScoreChange, ScoringModel, ScoringRun


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    list_display = ["version", "name", "status", "origin", "created_at", "published_at"]
    list_filter = ["status", "origin"]
    readonly_fields = [f.name for f in ScoringModel._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ScoringRun)
class ScoringRunAdmin(admin.ModelAdmin):
    list_display = ["id", "model", "reason", "status", "leads_done", "leads_changed", "created_at", "finished_at"]
    list_filter = ["status", "reason"]
    list_select_related = ["model"]
    readonly_fields = [f.name for f in ScoringRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ScoreChange)
class ScoreChangeAdmin(admin.ModelAdmin):
    list_display = ["lead", "previous_score", "score", "previous_grade", "grade", "reason", "recorded_at"]
    list_filter = ["reason", "grade"]
    raw_id_fields = ["lead", "model"]
    list_select_related = ["model"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
