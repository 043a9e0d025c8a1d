from django.urls import re_path

from . import views

app_name = "capture"
urlpatterns = [
    re_path(r"^chat/completions/?$", views.chat_completions, name="chat-completions"),
    re_path(r"^models/?$", views.list_models, name="models"),
]
