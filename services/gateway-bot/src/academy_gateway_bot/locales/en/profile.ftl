profile-card =
    👤 Profile

    Name: { $name }
    City: { $city }
    Points: { $points }
    Level: { $level }

profile-not-registered =
    You are not registered yet. Send /start.

profile-details =
    👤 <b>Profile</b>

    Name: { $name }
    City: { $city }
    Phone: { $phone }
    Time zone: { $time_zone }
    Points: { $points }
    Level: { $level }

profile-edit-name =
    ✏️ Change name

profile-edit-city =
    🏙 Change city

profile-ask-name =
    Write your new first and last name (or /cancel).

profile-ask-city =
    Type your new city or pick one (or /cancel).

profile-saved =
    ✅ Saved.

reminders-off-button =
    🔕 No reminders

reminders-on-button =
    🔔 Turn reminders on

reminders-off =
    🔕 Reminders are off. You can turn them back on with the button below.

reminders-on =
    🔔 Reminders are on again.

profile-time-zone-default =
    { $time_zone } (the default: set your city so reminders come in your daytime)
