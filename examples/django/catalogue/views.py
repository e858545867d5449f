from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.filters import SearchFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Course
from .pagination import CoursePagination
from .permissions import IsStaffOrReadOnly
from .serializers import CourseSerializer


class CourseViewSet(viewsets.ModelViewSet):
    """GET /api/courses/ (filter, search, paginate), GET/PUT/PATCH/DELETE /api/courses/<pk>/."""

    queryset = Course.objects.select_related("subject").prefetch_related("tags")
    serializer_class = CourseSerializer
    pagination_class = CoursePagination
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsStaffOrReadOnly]
    filter_backends = [DjangoFilterBackend, SearchFilter]
    filterset_fields = ["course_start_date", "level"]
    search_fields = ["title", "description", "slug", "subject__title", "subject__description"]


class MeView(APIView):
    """GET /api/me/: who is calling (Authorization: Token <key>, or a session)."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"username": request.user.get_username(), "id": request.user.pk})
