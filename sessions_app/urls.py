from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "sessions"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="sessions:list"), name="home"),
    path("sessions/", views.session_list, name="list"),
    path("sessions", views.session_list),
    path("sessions.html", views.session_list),  # the seed's page
    path("sessions/bulk", views.bulk_action, name="bulk"),
    path("sessions/<session_id:session_id>/", views.session_detail, name="detail"),
    path("sessions/<session_id:session_id>", views.session_detail),
    path("sessions/<session_id:session_id>/new-messages", views.new_messages, name="new-messages"),
    path("sessions/<session_id:session_id>/rename", views.rename_session, name="rename"),
    path("sessions/<session_id:session_id>/end", views.end_session, name="end"),
    path("sessions/<session_id:session_id>/delete", views.delete_session, name="delete"),
    path("sessions/<session_id:session_id>/branch", views.switch_branch, name="switch-branch"),
    path("sessions/<session_id:session_id>/messages/<int:seq>/parts/<int:index>", views.message_part, name="part"),
]
