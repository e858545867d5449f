from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("courses", views.CourseViewSet, basename="course")
router.register("offset", views.OffsetViewSet, basename="offset")

urlpatterns = [
    path("api/", include(router.urls)),
    path("articles/<slug:slug>/", views.article, name="article"),
    re_path(r"^archive/(?P<year>[0-9]{4})/$", views.archive, name="archive"),
    re_path(r"^optional/(?P<x>\d+)?/$", views.archive, name="optional"),
    path("failing/", views.failing),
    path("plain/", views.plain),
]
