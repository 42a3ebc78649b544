# Answers to a button press the screen itself did not answer (screens.AnswerEveryCallback).

navigation-button-outdated =
    Эта кнопка устарела — откройте экран заново из меню.

navigation-failed =
    Не получилось — попробуйте ещё раз чуть позже.
