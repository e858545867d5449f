from django.http import HttpResponse, JsonResponse
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.pagination import LimitOffsetPagination, PageNumberPagination

from edgecache_django import EdgeCache, EdgeCacheMixin, edge_cache

from .models import Course


class CourseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["id", "title", "slug", "level"]


class Pages(PageNumberPagination):
    page_size = 5
    page_size_query_param = "perpage"
    max_page_size = 10


class CourseViewSet(EdgeCacheMixin, viewsets.ModelViewSet):
    queryset = Course.objects.all()
    serializer_class = CourseSerializer
    pagination_class = Pages
    filter_backends = [DjangoFilterBackend, SearchFilter]
    filterset_fields = ["level"]
    search_fields = ["title"]
    edge_cache = EdgeCache("15m", tags=("course:{pk}",), list_tags=("course_list",), stale_while_revalidate=60,
                           stale_if_error="1d", vary=("accept",), query={"lowercase": ["level"]})


class OffsetViewSet(EdgeCacheMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Course.objects.all()
    serializer_class = CourseSerializer
    pagination_class = LimitOffsetPagination
    filter_backends = [OrderingFilter]
    edge_cache = EdgeCache(120, list_tags=("course_list",))


@edge_cache("1h", tags=["article:{slug}"], stale_if_error="1d", max_age=60)
def article(request, slug):
    return HttpResponse(f"article {slug}")


@edge_cache("5m", tags=["year:{year}"])
def archive(request, year):
    return JsonResponse({"year": year})


@edge_cache(30, name="broken")
def failing(request):
    return HttpResponse("no", status=500)


def plain(request):
    return HttpResponse("not cached")
