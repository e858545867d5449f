from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import CourseViewSet, MeView

router = SimpleRouter()
router.register("courses", CourseViewSet, basename="course")

urlpatterns = [path("me/", MeView.as_view(), name="me"), *router.urls]
