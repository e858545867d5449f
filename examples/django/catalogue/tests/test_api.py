from rest_framework.test import APITestCase

ALICE = "a11ce" * 8
BOB = "b0b0" * 10
ADMIN = "ad" * 20


class CourseListTests(APITestCase):
    fixtures = ["catalogue"]

    def get(self, url, **extra):
        response = self.client.get(url, **extra)
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def test_first_page_shape(self):
        data = self.get("/api/courses/")
        self.assertEqual(list(data), ["count", "page", "page_size", "next", "previous", "results"])
        self.assertEqual((data["count"], data["page"], data["page_size"]), (23, 1, 5))
        self.assertIsNone(data["previous"])
        self.assertTrue(data["next"].endswith("/api/courses/?page=2"))
        self.assertEqual([c["id"] for c in data["results"]], [1, 2, 3, 4, 5])

    def test_last_page(self):
        data = self.get("/api/courses/?page=5")
        self.assertEqual((data["page"], len(data["results"])), (5, 3))
        self.assertIsNone(data["next"])
        self.assertEqual(self.client.get("/api/courses/?page=6").status_code, 404)

    def test_perpage_and_clamp(self):
        self.assertEqual(self.get("/api/courses/?perpage=7")["page_size"], 7)
        data = self.get("/api/courses/?perpage=500")
        self.assertEqual((data["page_size"], len(data["results"])), (10, 10))
        data = self.get("/api/courses/?perpage=500&page=3")
        self.assertEqual((data["page"], len(data["results"])), (3, 3))

    def test_filters(self):
        data = self.get("/api/courses/?level=advanced")
        self.assertEqual(data["count"], 7)
        self.assertTrue(all(c["level"] == "advanced" for c in data["results"]))
        data = self.get("/api/courses/?course_start_date=2025-02-03")
        self.assertEqual({c["title"] for c in data["results"]},
                         {"Python for Beginners", "Django Web Development", "Calculus I", "Typography Basics"})
        data = self.get("/api/courses/?level=advanced&course_start_date=2025-05-05")
        self.assertEqual(data["count"], 4)
        self.assertEqual(self.client.get("/api/courses/?level=expert").status_code, 400)

    def test_search(self):
        titles = lambda q: [c["title"] for c in self.get(f"/api/courses/?search={q}&perpage=10")["results"]]  # noqa: E731
        self.assertEqual(titles("caching"), ["HTTP Caching in Depth"])  # title
        self.assertEqual(titles("metaclasses"), ["Advanced Python Internals"])  # description
        self.assertEqual(titles("sql-fundamentals"), ["SQL Fundamentals"])  # slug
        self.assertEqual(len(titles("Data Science")), 5)  # subject__title
        self.assertEqual(len(titles("typography")), 3)  # title + subject__description
        self.assertEqual(titles("nothing-matches-this"), [])

    def test_detail(self):
        data = self.get("/api/courses/3/")
        self.assertEqual(data["title"], "REST APIs with Django REST Framework")
        self.assertEqual(data["subject"], "programming")
        self.assertEqual(data["tags"], ["python", "web"])
        self.assertEqual(self.client.get("/api/courses/999/").status_code, 404)

    def test_etag_and_304(self):
        response = self.client.get("/api/courses/")
        etag = response["ETag"]
        self.assertEqual(self.client.get("/api/courses/", HTTP_IF_NONE_MATCH=etag).status_code, 304)


class AuthTests(APITestCase):
    fixtures = ["catalogue"]

    def test_me_with_tokens(self):
        for token, username, pk in [(ALICE, "alice", 2), (BOB, "bob", 3), (ADMIN, "admin", 1)]:
            response = self.client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token}")
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.json(), {"username": username, "id": pk})

    def test_me_anonymous_and_bad_token(self):
        self.assertEqual(self.client.get("/api/me/").status_code, 401)
        self.assertEqual(self.client.get("/api/me/", HTTP_AUTHORIZATION="Token " + "0" * 40).status_code, 401)

    def test_me_with_session(self):
        self.assertTrue(self.client.login(username="bob", password="bob"))
        self.assertEqual(self.client.get("/api/me/").json(), {"username": "bob", "id": 3})

    def test_writes_need_staff_token(self):
        body = {"title": "Edge Workers", "slug": "edge-workers", "subject": "programming",
                "level": "beginner", "course_start_date": "2025-07-01", "tags": ["web", "caching"]}
        self.assertEqual(self.client.post("/api/courses/", body, format="json").status_code, 401)
        response = self.client.post("/api/courses/", body, format="json", HTTP_AUTHORIZATION=f"Token {ALICE}")
        self.assertEqual(response.status_code, 403)
        staff = {"HTTP_AUTHORIZATION": f"Token {ADMIN}"}
        response = self.client.post("/api/courses/", body, format="json", **staff)
        self.assertEqual(response.status_code, 201, response.content)
        pk = response.json()["id"]
        self.assertEqual(response.json()["tags"], ["caching", "web"])
        response = self.client.patch(f"/api/courses/{pk}/", {"level": "advanced"}, format="json", **staff)
        self.assertEqual(response.json()["level"], "advanced")
        response = self.client.put(f"/api/courses/{pk}/", {**body, "title": "Edge Workers II"}, format="json", **staff)
        self.assertEqual(response.json()["title"], "Edge Workers II")
        self.assertEqual(self.client.delete(f"/api/courses/{pk}/", **staff).status_code, 204)
        self.assertEqual(self.client.get(f"/api/courses/{pk}/").status_code, 404)

    def test_admin_login(self):
        self.assertTrue(self.client.login(username="admin", password="admin"))
        self.assertEqual(self.client.get("/admin/catalogue/course/1/change/").status_code, 200)
