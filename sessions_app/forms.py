from django import forms


class RenameSessionForm(forms.Form):
    title = forms.CharField(max_length=200, required=False, strip=True)
