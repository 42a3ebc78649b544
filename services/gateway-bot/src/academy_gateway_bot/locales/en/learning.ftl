catalog-title =
    📚 <b>Course catalog</b>

    Choose a field to see its courses.

catalog-top =
    🔥 Course of the month: <b>{ $title }</b>

catalog-top-button =
    🔥 Course of the month: { $title }

catalog-empty =
    📚 The catalog is empty for now — courses are coming soon.

catalog-category =
    📂 <b>{ $category }</b>

    Courses: { $total } · page { $page } of { $pages }
    Choose a course:

catalog-category-empty =
    📂 <b>{ $category }</b>

    No courses in this field yet — check back soon.

catalog-course-button =
    { $title } · { $price }

catalog-page =
    { $page }/{ $pages }

catalog-all-categories =
    ⬅️ All fields

course-untitled =
    Course #{ $id }

course-not-found =
    This course is no longer available. Have a look at the catalog for others!

course-closed =
    Enrolment in this course is closed for now. Have a look at the catalog for others!

course-card =
    🎓 <b>{ $title }</b>

    { $description }

    📂 { $category }
    🎬 Lessons: { $lessons }
    ⏱ Duration: { $duration }

course-price =
    💰 Price: { $price }

course-hours =
    { $hours } { $hours ->
        [one] hour
       *[other] hours
    }

course-no-duration =
    not set

course-free-lessons =
    🔓 <b>Free preview lessons:</b>
    { $lessons }

course-free-lessons-more =
    …and { $count } more

course-read-more =
    📖 Read more

course-about =
    🎓 <b>{ $title }</b>

    { $text }

course-archived =
    🗄 This course has been withdrawn from the catalog, but it stays yours: every lesson is still open.

course-your-progress =
    📈 Your progress: { $bar }

course-completed =
    🎓 Course completed!

course-enrol-free =
    ✅ Enrol for free

course-buy =
    💳 Buy for { $price }

course-lessons =
    📖 Lessons

course-continue =
    ▶️ Continue learning

course-enrolled =
    🎉 You are enrolled in “{ $title }”!

    Shall we start with the first lesson?

course-already-enrolled =
    You are already enrolled in “{ $title }”. Shall we continue?

course-start-lesson =
    ▶️ Lesson { $order }: { $title }

lessons-title =
    📖 <b>{ $title }</b>

    Lessons completed: { $done } of { $total }
    { $bar }

    ✅ done · ▶️ open · 🔒 after enrolling

lessons-button =
    { $mark } { $order }. { $title }

lessons-back-to-course =
    ⬅️ Course details

lessons-page =
    { $page }/{ $pages }

lesson-view =
    🎬 <b>Lesson { $order } of { $total }. { $title }</b>
    📚 { $course }

lesson-description =
    { $description }

lesson-read-more =
    📖 Read more

lesson-text =
    🎬 <b>Lesson { $order }. { $title }</b>

    { $text }

lesson-back =
    ⬅️ Back to the lesson

lesson-video-minutes =
    ⏱ Video: { $minutes } min

lesson-materials =
    Watch the video, follow the checklist, then mark the lesson completed.

lesson-completed-on =
    ✅ Completed on { $date }

lesson-locked =
    🔒 This lesson opens once you enrol in the course.

lesson-video =
    ▶️ Watch the video

lesson-pdf =
    📄 Checklist (PDF)

lesson-complete =
    ✅ Completed

lesson-to-list =
    📖 All lessons

lesson-next =
    ➡️ Next lesson: { $title }

lesson-done =
    ✅ Lesson “{ $title }” completed!

    { $done } of { $total } { $total ->
        [one] lesson
       *[other] lessons
    } done
    { $bar }

lesson-done-course =
    🎉 Lesson “{ $title }” completed — that was the last one! { $total ->
        [one] The only lesson is done.
       *[other] All { $total } lessons are done.
    }

lesson-already-done =
    You have already completed this lesson 👍

lesson-forbidden =
    🔒 This lesson opens once you enrol in the course.

lesson-retry =
    ⏳ Couldn't mark the lesson just now — please try again in a moment.

lesson-not-found =
    This lesson is no longer part of the course.

my-title =
    🎓 <b>My courses</b>

my-course-active =
    { $n }. <b>{ $title }</b>
    { $bar } · { $done } of { $total } { $total ->
        [one] lesson
       *[other] lessons
    }

my-course-done =
    { $n }. ✅ <b>{ $title }</b>
    { $bar } · completed on { $date }

my-empty =
    🎓 You have no courses yet.

    Have a look at the catalog — there are free courses to start with.

my-open-catalog =
    📚 Open the catalog

my-continue-button =
    ▶️ { $title }

my-review-button =
    🎓 { $title }

my-transcript-button =
    📄 Learning transcript (PDF)

transcript-preparing =
    ⏳ Preparing your learning transcript…

transcript-caption =
    📄 Your learning transcript: { $courses } { $courses ->
        [one] course
       *[other] courses
    } completed, { $hours } { $hours ->
        [one] hour
       *[other] hours
    } of learning.

transcript-none =
    📄 Your learning transcript appears once you complete a course. On to the lessons!

communities-title =
    👥 <b>Communities</b>

    Talk to colleagues, ask questions and share your work:

communities-line =
    { $icon } <b>{ $title }</b>{ $description }

communities-empty =
    👥 No communities for your city and fields yet — we will tell you when they appear!
