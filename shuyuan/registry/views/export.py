"""Portal page: download a OneRoster 1.2 CSV bundle of an org's subtree.

``GET /registry/export/`` lists the orgs the user may export (those with org records the user may
view: the registry's ``view`` rule); ``POST`` with ``org`` writes the bundle to a temporary file
and streams it back as ``oneroster-<org id>.zip``, after recording the audit event
``registry.bundle.exported`` (org, row counts). An org the user may not export is a 404.
"""

from __future__ import annotations

import tempfile

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from shuyuan.core.audit import record_audit
from shuyuan.core.views import render_page

from ..oneroster.export import access_exportable_org, exportable_orgs, write_bundle


@login_required
@require_http_methods(["GET", "POST"])
def export_bundle(request: HttpRequest) -> HttpResponseBase:
    """The export form (GET) and the download (POST ``org=<id>``)."""
    if request.method == "POST":
        try:
            pk = int(request.POST.get("org", ""))
        except ValueError:
            raise Http404 from None
        org = access_exportable_org(request.user, pk)
        if org is None:
            raise Http404
        out = tempfile.TemporaryFile()  # noqa: SIM115  # FileResponse closes it when streamed
        counts = write_bundle(org, out, user=request.user)
        with transaction.atomic():
            record_audit(
                "registry.bundle.exported",
                actor=request.user,
                subject=org,
                org_path=org.path,
                extra={"format": "oneroster_csv", "counts": counts},
            )
        out.seek(0)
        response = FileResponse(
            out,
            as_attachment=True,
            filename=f"oneroster-{org.pk}.zip",
            content_type="application/zip",
        )
        response["Cache-Control"] = "no-store"
        return response
    orgs = exportable_orgs(request.user)
    return render_page(request, "registry/export_bundle.html", {"orgs": orgs})


urlpatterns: list[URLPattern] = [path("export/", export_bundle, name="export_bundle")]
