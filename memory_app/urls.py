from django.urls import path

from . import views

app_name = "memory"

urlpatterns = [
    path("", views.index, name="index"),
    path("items/<int:item_id>/edit", views.edit_item, name="edit-item"),
    path("items/<int:item_id>/delete", views.delete_item, name="delete-item"),
]
