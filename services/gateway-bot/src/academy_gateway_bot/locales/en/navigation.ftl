# Answers to a button press the screen itself did not answer (screens.AnswerEveryCallback).

navigation-button-outdated =
    This button is out of date — open the screen again from the menu.

navigation-failed =
    That did not work — please try again in a moment.
