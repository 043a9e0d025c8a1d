from django import forms

from .models import TaskStatus


class MemoryItemForm(forms.Form):
    """The memory page's edit form; which fields an item takes is its layer's (services.EDITABLE_FIELDS)."""

    text = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    category = forms.CharField(required=False, max_length=64)
    status = forms.ChoiceField(required=False, choices=TaskStatus.choices)
    title = forms.CharField(required=False, max_length=200)
