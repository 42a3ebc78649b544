points-for-welcome =
    🎁 +{ $points } { $points ->
        [one] point
       *[other] points
    } for joining! Total points: { $total }.

points-for-course =
    ⭐ +{ $points } { $points ->
        [one] point
       *[other] points
    } for the course “{ $title }”. Total points: { $total }.

points-for-lesson =
    ⭐ +{ $points } { $points ->
        [one] point
       *[other] points
    } for a lesson. Total points: { $total }.

points-for-achievement =
    ⭐ +{ $points } { $points ->
        [one] point
       *[other] points
    } for the achievement “{ $title }”. Total points: { $total }.

points-for-streak =
    🔥 +{ $points } { $points ->
        [one] point
       *[other] points
    } for your learning streak. Total points: { $total }.

points-for-other =
    ⭐ +{ $points } { $points ->
        [one] point
       *[other] points
    }. Total points: { $total }.

points-level-reached =
    🎖 New level: { $level } — “{ $title }”!

ach-summary =
    🏆 <b>Points & achievements</b>

    ⭐ Points: <b>{ $points }</b>
    🎖 Level { $level } — “{ $level_title }”
    { $next }
    🔥 Streak: { $streak }
    📚 Lessons completed: { $lessons } · courses: { $courses }

ach-to-next-level =
    📈 To the next level: { $points } { $points ->
        [one] point
       *[other] points
    }

ach-top-level =
    📈 You are at the top level!

ach-streak-days =
    { $days } { $days ->
        [one] day
       *[other] days
    } in a row

ach-streak-none =
    start today

ach-unlocked-header =
    <b>Unlocked ({ $count }):</b>

ach-unlocked-line =
    🏅 { $title } — { $date }

ach-locked-header =
    <b>Still ahead:</b>

ach-locked-line =
    🔒 { $title } — { $progress }/{ $target }

ach-none =
    No achievements yet — complete your first lesson!

ach-leaderboard-button =
    📊 Leaderboard

lb-title =
    📊 <b>Leaderboard · { $scope }</b>

lb-scope-overall =
    🌍 Overall

lb-scope-city =
    🏙 { $city }

lb-scope-category =
    📂 { $category }

lb-entry =
    { $place } { $name } — { $points }

lb-empty =
    Nobody here yet — be the first!

lb-me =
    👉 You are #{ $rank } with { $points } { $points ->
        [one] point
       *[other] points
    }

lb-me-none =
    You are not on this board yet — complete a lesson to join it.

lb-neighbours =
    Around you:

lb-back =
    ⬅️ Achievements

lb-anonymous =
    Learner #{ $rank }

lb-anonymous-you =
    Learner #{ $rank } (you)

lb-you-are-anonymous =
    🙈 You take part anonymously: others see “Learner #…” instead of your name.

lb-hide-my-name =
    🙈 Hide my name on leaderboards

lb-show-my-name =
    👤 Show my name on leaderboards

lb-now-anonymous =
    You now appear as “Learner #…”

lb-now-named =
    Your name is now shown on leaderboards

lb-visibility-not-ready =
    The leaderboard does not know you yet — try again in a minute.
