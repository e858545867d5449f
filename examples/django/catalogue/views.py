from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.filters import SearchFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from edgecache_django import EdgeCache, EdgeCacheMixin

from .models import Course
from .pagination import CoursePagination
from .permissions import IsStaffOrReadOnly
from .serializers import CourseSerializer


class CourseViewSet(EdgeCacheMixin, viewsets.ModelViewSet):
    """GET /api/courses/ (filter, search, paginate), GET/PUT/PATCH/DELETE /api/courses/<pk>/."""

    # The edge's side: Cache-Control (s-maxage), CDN-Cache-Control and Cache-Tag on
    # GETs, and what `manage.py edgecache_routes` writes as this view's routes.
    edge_cache = EdgeCache("15m", tags=("course:{pk}",), list_tags=("course_list",),
                           vary=("accept", "accept-language"), query={"lowercase": ["level"]})

    queryset = Course.objects.select_related("subject").prefetch_related("tags")
    # Ids are integers: the URL matches only digits, as the worker's :pk(int) does.
    lookup_value_regex = "[0-9]+"
    serializer_class = CourseSerializer
    pagination_class = CoursePagination
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaffOrReadOnly]
    filter_backends = [DjangoFilterBackend, SearchFilter]
    filterset_fields = ["course_start_date", "level"]
    search_fields = ["title", "description", "slug", "subject__title", "subject__description"]


class MeView(EdgeCacheMixin, APIView):
    """GET /api/me/: who is calling (Authorization: Token <key>, or a session)."""

    edge_cache = EdgeCache("1m", per_user=True, vary=("accept",), name="me")

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"username": request.user.get_username(), "id": request.user.pk})
