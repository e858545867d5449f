from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("catalogue.urls")),
    path("api-auth/", include("rest_framework.urls")),
    # Served by Django even with DEBUG off (demo only); static.serve sends Last-Modified
    # and answers If-Modified-Since with 304.
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]
