from django.urls import path

from . import views

app_name = "curation"
urlpatterns = [
    path("sessions/<session_id:session_id>/curate", views.curate_session, name="curate"),
    path("sessions/<session_id:session_id>/share", views.share_session, name="share"),
    path("sessions/<session_id:session_id>/messages/<int:seq>/rate", views.rate_message, name="rate"),
    path("shares/", views.share_links, name="shares"),
    path("shares/<int:link_id>/revoke", views.revoke_share_link, name="revoke-share"),
]
