# Avatars (handlers/avatars.py): setting one from a photo, the history, going back, deleting.
avatar-change =
    📷 Change photo
avatar-my-photos =
    🖼 My photos
avatar-open-profile =
    👤 Profile
avatar-send-photo =
    📷 Send a photo — it becomes your profile photo right away.
    An uncompressed file works too: JPEG, PNG or WebP up to 10 MB.
    Changed your mind? /cancel.
avatar-send-photo-again =
    Send a photo, or /cancel.
avatar-not-registered =
    To set a profile photo, register first: send /start.
avatar-confirm =
    Make this photo your avatar?
avatar-confirm-yes =
    ✅ Yes
avatar-confirm-no =
    ✖️ No
avatar-set =
    ✅ Profile photo updated.
# A second press of Yes or No, by how the first one went.
avatar-offer-accepted =
    This photo is your profile photo already.
avatar-offer-declined =
    All right, your profile photo stays as it is.
avatar-offer-refused =
    This photo did not fit — send another one.
avatar-offer-expired =
    This offer has expired. Send the photo again.
# Refusals (the users service's checks; Telegram lets a bot download files of up to 20 MB).
avatar-refused-too-big =
    😕 The file is too big for a profile photo.
avatar-refused-not-an-image =
    😕 This is not an image — a profile photo has to be a picture.
avatar-refused-unsupported-type =
    😕 This image format is not supported.
avatar-refused-detected =
    The file's format: { $format }.
avatar-refused-type-mismatch =
    😕 The file is not what its type says: its content does not match. Save the picture again as JPEG or PNG.
avatar-refused-too-many-pixels =
    😕 The image has too many pixels. Make it smaller (say, 4000 × 4000) and send it again.
avatar-formats =
    A photo or a picture file will do: JPEG, PNG or WebP up to 10 MB.
avatar-history-empty =
    You have no profile photo yet. Press «📷 Change photo» and send one.
avatar-history =
    🖼 Profile photos: { $count }.
# $numbers: «#1–10», «#11»…
avatar-history-shown =
    Above: { $numbers }, numbered.
# Photos whose images are gone from storage: $numbers is «#3, #5».
avatar-history-missing =
    😕 Could not show { $numbers }: these photos are gone. They cannot be restored — you can send a new one.
avatar-history-none-shown =
    😕 Could not show any photo: { $numbers } are gone. They cannot be restored — you can send a new one.
avatar-history-restore-hint =
    «↩️ Restore» puts a photo back in your profile.
avatar-number =
    #{ $number }
avatar-number-range =
    #{ $first }–{ $last }
avatar-history-older =
    ⬅️ Older
avatar-history-newer =
    Newer ➡️
# The profile card when the current photo's image is gone from storage.
avatar-card-unavailable =
    📷 Your profile photo is unavailable right now — send a new one: «📷 Change photo».
# Added to avatar-history only when one of the photos is the current one.
avatar-history-remove-hint =
    «🗑 Delete current photo» removes the current one.
avatar-history-item =
    #{ $number } · { $date }
avatar-history-item-current =
    #{ $number } · current · { $date }
avatar-restore =
    ↩️ Restore #{ $number }
avatar-remove =
    🗑 Delete current photo
avatar-restored =
    ✅ This photo is in your profile again.
avatar-gone =
    This photo is no longer there. Open «My photos» again.
avatar-not-current-any-more =
    This photo is not your current one any more. Open «My photos» again.
avatar-removed =
    🗑 Your current photo is deleted; your profile has no photo for now. Set a new one, or restore an earlier one in «My photos».
